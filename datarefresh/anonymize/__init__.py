"""Anonymization: keyed determinism, fake generators and the operator registry."""
