"""The API boundary: the client, one retry policy for every call, request building and answer parsing."""
