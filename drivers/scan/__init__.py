"""QR scanners and cameras: from bytes or pixels to the text of each code, per counter."""
