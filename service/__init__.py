"""The Flask service (issue: the /classify service). Not built yet."""
