"""Keys and certificates: PKCS#11 store, CSRs, imports, chains, local CA, technician CLI."""
