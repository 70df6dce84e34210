"""What one command does over the network: an exchange (send, read, record), background runs
(resume, poll), a batch of lines, the platform calls (search, context, embeddings).

May import: every layer below (base, wire, dialects, output, store); never commands or cli.
"""
