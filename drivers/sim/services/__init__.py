"""Test doubles of the national téléservices (INSi, DMP): real SOAP over real TLS, written from
DOMAIN.md facts. Never part of the box image."""
