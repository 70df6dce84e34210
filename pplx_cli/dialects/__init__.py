"""The API dialects: turning the Agent API's and chat completions' events and bodies into typed
pieces, building request bodies, and what citation markers mean. Pure: no I/O.

May import: the base modules and wire (the Event type, error messages).
"""
