"""Cards: the customer's cashless or identification media (Mifare, barcode, QR)."""
