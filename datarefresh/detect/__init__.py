"""Detection: column classification and free-text PII analysis."""
