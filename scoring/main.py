"""Container entry point: the HTTP scoring server always, the IoT Edge client under IoT Edge."""

import logging
import os
import signal

import edge
import http_server
import score

logger = logging.getLogger("edgeml")


def _stop(signum, frame):
    # As PID 1 in a container, Python would ignore SIGTERM without a handler and
    # `docker stop` would wait for SIGKILL; exiting lets the finally block run.
    raise SystemExit(0)


def main():
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    score.init()
    server = http_server.make_server(port=int(os.environ.get("PORT", http_server.DEFAULT_PORT)))
    signal.signal(signal.SIGTERM, _stop)
    client = edge.start_module_client(edge.EdgeRoutes.from_env(os.environ)) if edge.under_iot_edge(os.environ) else None
    logger.info("HTTP scoring on port %d (POST /score, GET /)", server.server_address[1])
    try:
        server.serve_forever()
    finally:
        server.server_close()
        if client is not None:
            client.shutdown()


if __name__ == "__main__":
    main()
