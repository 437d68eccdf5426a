"""Local signatures with the box's token keys: raw RSA, XML-DSig, VIHF (SAML 2.0), CMS."""
