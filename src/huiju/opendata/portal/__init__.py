"""The public portal: accounts, keys and rate limits, conditional open, interaction and statistics."""
