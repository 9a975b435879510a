"""Import and export of the customer base: XLSX, CSV, ZIP files and the jobs that make them."""
