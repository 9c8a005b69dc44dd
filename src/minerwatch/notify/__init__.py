"""Alert delivery: the notifiers of a rule file (webhook, ntfy, Telegram, email, command,
JSONL file), each with retries, backoff and a deadline."""
