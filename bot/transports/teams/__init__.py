"""Microsoft Teams: the bot (receiving commands and card actions at /api/messages, through
the Teams SDK for Python) and the transport that sends proactive messages."""
