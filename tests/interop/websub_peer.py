"""An independent WebSub implementation for newswire's interop tests:
Flask-WebSub (PyPI), its hub and its subscriber, each on 127.0.0.1.

    websub_peer.py hub PORT DIR
        a hub at http://127.0.0.1:PORT/hub that accepts publish pings
        (PUBLISH_SUPPORTED), its tasks run at once (celery, eager)
    websub_peer.py subscriber PORT DIR FEED
        discovers FEED's hub and topic from its Link header, subscribes with a
        callback under http://127.0.0.1:PORT/callbacks/, and writes DIR/verified
        when the hub verified it and each notification's body to DIR/pushed-N

.ci/run installs Flask-WebSub and celery into a venv and names its python in
NEWSWIRE_WEBSUB_PEER.
"""
import os
import sys
import threading
import time

from celery import Celery
from flask import Flask


def app_on(port):
    app = Flask("websub_peer")
    app.config["SERVER_NAME"] = f"127.0.0.1:{port}"
    return app


def hub(port, folder):
    from flask_websub.hub import Hub, SQLite3HubStorage

    app = app_on(port)
    # Read from the app's config, not the hub's.
    app.config["PUBLISH_SUPPORTED"] = True
    celery = Celery("websub_peer", broker="memory://", backend="cache+memory://")
    celery.conf.task_always_eager = True
    the_hub = Hub(
        SQLite3HubStorage(os.path.join(folder, "hub.sqlite")),
        celery,
        REQUEST_TIMEOUT=5,
    )
    app.register_blueprint(the_hub.build_blueprint(url_prefix="/hub"))
    app.run(host="127.0.0.1", port=port, threaded=True)


def subscriber(port, folder, feed):
    from flask_websub.subscriber import (
        SQLite3SubscriberStorage,
        SQLite3TempSubscriberStorage,
        Subscriber,
        discover,
    )

    app = app_on(port)
    # No secret over plain HTTP: Flask-WebSub refuses one there.
    app.config["AUTO_SET_SECRET"] = False
    db = os.path.join(folder, "subscriber.sqlite")
    sub = Subscriber(SQLite3SubscriberStorage(db), SQLite3TempSubscriberStorage(db))
    app.register_blueprint(sub.build_blueprint(url_prefix="/callbacks"))
    count = [0]

    @sub.add_listener
    def pushed(topic_url, callback_id, body):
        count[0] += 1
        with open(os.path.join(folder, f"pushed-{count[0]}"), "wb") as f:
            f.write(body)

    @sub.add_success_handler
    def verified(topic_url, callback_id, mode):
        with open(os.path.join(folder, "verified"), "w") as f:
            f.write(f"{mode} {topic_url}\n")

    @sub.add_error_handler
    def failed(topic_url, callback_id, reason):
        print(f"websub_peer: {topic_url}: {reason}", file=sys.stderr, flush=True)

    def subscribe():
        time.sleep(0.5)
        with app.app_context():
            sub.subscribe(**discover(feed), lease_seconds=3600)

    threading.Thread(target=subscribe, daemon=True).start()
    app.run(host="127.0.0.1", port=port, threaded=True)


if __name__ == "__main__":
    role, port, folder = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if role == "hub":
        hub(port, folder)
    else:
        subscriber(port, folder, sys.argv[4])
