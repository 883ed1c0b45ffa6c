"""Load and validate vcop's definitions (schema, profiles, Code, metrics). No database here."""
