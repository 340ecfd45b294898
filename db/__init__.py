"""The app database: accounts and the ledger, the order projection, the video simulator."""
