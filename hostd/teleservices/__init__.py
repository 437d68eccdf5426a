"""Clients of the national téléservices (INSi, DMP, ApCV): SOAP 1.2 over mTLS with token keys."""
