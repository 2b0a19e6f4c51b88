"""Full-text search across archived meetings (tra cứu): minutes and documents, diacritics optional."""
