"""A webhook receiver that verifies each delivery and purges a CDN by cache tags.

    pip install standardwebhooks
    WEBHOOK_SECRET=whsec_... python3 docs/examples/webhook_receiver.py 9000

Verification follows the Standard Webhooks specification (any of its libraries works): the
signature covers ``{webhook-id}.{webhook-timestamp}.{body}``, and old timestamps are refused.
Deliveries are retried with the same ``webhook-id``: remember the ids you handled and answer 2xx
to a repeat. Answer ``410 Gone`` to make the CMS disable the endpoint.
"""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

from standardwebhooks import Webhook, WebhookVerificationError

webhook = Webhook(os.environ["WEBHOOK_SECRET"])
handled: set[str] = set()  # use a database table in production


def purge(tags: list[str]) -> None:
    """Call your CDN here, e.g. Fastly: POST /service/{id}/purge with Surrogate-Key: <tags>;
    Cloudflare: POST /zones/{id}/purge_cache {"tags": [...]}."""
    print("purge:", " ".join(tags), flush=True)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            message = webhook.verify(body, dict(self.headers))
        except WebhookVerificationError as exc:
            print("refused:", exc, flush=True)
            self.send_response(400)
            self.end_headers()
            return
        event_id = self.headers["webhook-id"]
        if event_id not in handled:
            handled.add(event_id)
            data = message["data"]
            print("verified:", message["type"], json.dumps(data["article"]), flush=True)
            purge(data.get("cache_tags", []))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
    print(f"listening on http://127.0.0.1:{port}/", flush=True)
    HTTPServer(("127.0.0.1", port), Handler).serve_forever()
