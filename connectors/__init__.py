"""One module per external system: a client class plus pure parse functions. No Prefect here."""
