"""Gates that must pass before anything is published."""
