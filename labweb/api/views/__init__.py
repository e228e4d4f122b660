"""The API's endpoints, one module per app whose records they serve; thin: selectors read, services write."""
