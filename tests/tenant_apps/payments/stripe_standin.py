"""A local stand-in of the Stripe API for tests: the real `stripe` library talks to it over HTTP on loopback.

It answers the documented response shapes of the endpoints we use (Checkout Sessions create/retrieve/list,
Refunds create) and keeps sessions in memory; tests flip a session to paid and sign webhooks the way Stripe does.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlparse

_ids = itertools.count(1)


def _unflatten(pairs: list[tuple[str, str]]) -> dict:
    """Stripe's form encoding (line_items[0][price_data][unit_amount]=…) back into nested dicts/lists."""
    root: dict = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = root
        for part, following in zip(parts, parts[1:] + [None], strict=True):
            if following is None:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return root


class StripeStandIn:
    def __init__(self):
        self.sessions: dict[str, dict] = {}
        self.refunds: list[dict] = []
        self.requests: list[tuple[str, str]] = []
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, status: int, body: dict):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Request-Id", f"req_{next(_ids)}")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = _unflatten(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
                path = urlparse(self.path).path
                standin.requests.append(("POST", path))
                if path == "/v1/checkout/sessions":
                    self._reply(200, standin.create_session(form))
                elif path == "/v1/refunds":
                    refund = {"id": f"re_{next(_ids)}", "object": "refund", "amount": int(form["amount"]),
                              "payment_intent": form.get("payment_intent"), "status": "succeeded"}
                    standin.refunds.append(refund)
                    self._reply(200, refund)
                else:
                    self._reply(404, {"error": {"type": "invalid_request_error", "message": "Unrecognized URL"}})

            def do_GET(self):
                url = urlparse(self.path)
                standin.requests.append(("GET", url.path))
                if url.path == "/v1/checkout/sessions":
                    query = dict(parse_qsl(url.query))
                    since = int(query.get("created[gte]", 0))
                    data = [s for s in standin.sessions.values() if s["created"] >= since]
                    self._reply(200, {"object": "list", "data": data, "has_more": False,
                                      "url": "/v1/checkout/sessions"})
                elif url.path.startswith("/v1/checkout/sessions/"):
                    session = standin.sessions.get(url.path.rsplit("/", 1)[1])
                    self._reply(200 if session else 404, session or {"error": {"message": "No such session"}})
                else:
                    self._reply(404, {"error": {"message": "Unrecognized URL"}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def create_session(self, form: dict) -> dict:
        item = form["line_items"]["0"]
        session_id = f"cs_test_{next(_ids):06d}"
        session = {
            "id": session_id, "object": "checkout.session", "mode": "payment", "status": "open",
            "payment_status": "unpaid", "url": f"https://checkout.stripe.com/c/pay/{session_id}",
            "amount_total": int(item["price_data"]["unit_amount"]) * int(item["quantity"]),
            "currency": item["price_data"]["currency"], "client_reference_id": form.get("client_reference_id"),
            "metadata": form.get("metadata", {}), "payment_intent": None, "created": int(time.time()),
            "success_url": form["success_url"], "cancel_url": form["cancel_url"],
        }
        self.sessions[session_id] = session
        return session

    def complete(self, session_id: str, *, amount_total: int | None = None, currency: str | None = None) -> dict:
        session = self.sessions[session_id]
        session.update(status="complete", payment_status="paid", payment_intent=f"pi_{session_id[8:]}")
        if amount_total is not None:
            session["amount_total"] = amount_total
        if currency is not None:
            session["currency"] = currency
        return session

    def expire(self, session_id: str) -> dict:
        self.sessions[session_id].update(status="expired")
        return self.sessions[session_id]


def signed_event(*, secret: str, event_type: str, session: dict, event_id: str | None = None,
                 timestamp: int | None = None) -> tuple[bytes, str]:
    """A webhook body and its Stripe-Signature header, signed as Stripe documents (HMAC-SHA256 of "t.body")."""
    body = json.dumps({"id": event_id or f"evt_{next(_ids)}", "object": "event", "type": event_type,
                       "api_version": "2025-01-27", "created": int(time.time()),
                       "data": {"object": dict(session)}}).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return body, f"t={timestamp},v1={signature}"
