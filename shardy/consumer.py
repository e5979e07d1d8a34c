"""A Celery consumer that dead-letters undecodable and invalid messages instead of dropping them."""

from __future__ import annotations

import logging

from celery.worker.consumer import Consumer

from shardy.deadletter import dead_letter_message, new_entry, publish

log = logging.getLogger("shardy.consumer")


class DeadLetteringConsumer(Consumer):
    """Celery's consumer, except that nothing malformed is silently acknowledged away, and a
    lost broker connection is always followed by a reconnect."""

    def on_connection_error_after_connected(self, exc):
        # kombu's Redis transport can raise AttributeError while closing a connection whose
        # server went away (it restores unacked messages through a client that is already
        # gone); Celery lets that escape and the consumer never reconnects. The messages are
        # restored by the visibility timeout anyway, so log it and let the reconnect go on.
        try:
            super().on_connection_error_after_connected(exc)
        except AttributeError as err:
            log.warning("ignored an error closing the lost broker connection: %r", err)

    def on_decode_error(self, message, exc):  # noqa: D401 - Celery hook
        log.error("dead-lettering an undecodable message (%s): %s", message.content_type, exc)
        dead_letter_message(self.app, message, f"undecodable message body: {exc}")

    def on_unknown_message(self, body, message):
        log.error("dead-lettering a message in an unknown format")
        dead_letter_message(self.app, message, "message in an unknown format (not a task)")

    def on_invalid_task(self, body, message, exc):
        log.error("dead-lettering an invalid task message: %s", exc)
        dead_letter_message(self.app, message, f"invalid task message: {exc}")

    def on_unknown_task(self, body, message, exc):
        if not self.app.is_amqp:  # RabbitMQ routes the reject below through x-dead-letter
            publish(self.app, new_entry("malformed", f"unknown task: {exc}"))
        super().on_unknown_task(body, message, exc)
