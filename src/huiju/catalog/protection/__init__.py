"""Data protection on catalog datasets: labels, level exceptions, inheritance, masking policies, re-encryption."""
