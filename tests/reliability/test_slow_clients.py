"""Clients trickling bytes (a phone on a bad link, or slowloris on purpose) never starve the
kiosks, and are cut off once their request has taken CANTEEN_REQUEST_READ_SECONDS."""
import socket
import threading
import time

import pytest

from .conftest import Load, bound, dish_ids, load_seconds


def trickle(port, head, body_size, results, stop):
    """Send `head` (and then a body) one byte at a time; record how long until the server hangs up."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=2)
    began = time.monotonic()
    data = head + (b"x" * body_size)
    try:
        for i in range(len(data)):
            if stop.is_set():
                results.append(None)
                return
            sock.sendall(data[i:i + 1])
            try:  # the server's answer to a cut-off connection: EOF or a reset
                sock.settimeout(0.25)
                if sock.recv(1024) == b"":
                    results.append(time.monotonic() - began)
                    return
            except TimeoutError:
                pass
        results.append("finished")  # never: the request is far longer than the test
    except OSError:
        results.append(time.monotonic() - began)
    finally:
        sock.close()


@pytest.mark.timeout(bound(90))
def test_slow_clients_do_not_starve_the_kiosks(server):
    # two threads: were a trickler to hold one, the kiosks would wait for it to be cut off (8 s)
    s = server(CANTEEN_REQUEST_READ_SECONDS="8", CANTEEN_CONNECTION_LIMIT="64", CANTEEN_THREADS="2")
    dishes = dish_ids(s.port)
    stop, results = threading.Event(), []
    headers = b"POST /api/v1/ratings HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    slow = [threading.Thread(target=trickle, args=(s.port, headers + b"X-Padding: " + b"a" * 400, 0, results, stop))
            for _ in range(12)]
    slow += [threading.Thread(target=trickle, args=(s.port, headers + b"Content-Length: 400\r\n\r\n", 400, results,
                                                     stop)) for _ in range(8)]
    began = time.monotonic()
    for t in slow:
        t.start()
    time.sleep(1)
    load = Load(s.port, dishes, clients=8, prefix="slow").start()
    time.sleep(load_seconds(4))
    load.stop()
    for t in slow:  # each is cut off by the server, or stopped here if it never is
        t.join(max(0.1, began + 14 - time.monotonic()))
    stop.set()
    for t in slow:
        t.join(5)
    assert set(load.statuses()) == {201}, load.statuses()
    durations = sorted(load.durations)
    p99 = durations[int(len(durations) * 0.99)]
    assert len(durations) > 20 and durations[-1] < 4, (len(durations), durations[-5:])  # none waited for one
    # every trickler was cut off: 8 s after its first byte, plus up to the 2 s cleanup interval
    assert len(results) == 20 and all(isinstance(r, float) and 8 <= r < 12 for r in results), results
    print(f"{len(durations)} votes, p99 {p99 * 1000:.0f} ms while 20 clients trickled; cut off after "
          f"{min(results):.1f}-{max(results):.1f} s")
