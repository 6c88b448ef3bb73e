"""Data protection: national cryptography, the audit chain, classification and masking."""
