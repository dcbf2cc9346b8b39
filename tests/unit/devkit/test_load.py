"""devkit.load's bare keep-alive client against a scripted server on 127.0.0.1: statuses read, bodies consumed,
one connection kept until the server closes it, and anything else counted rather than fatal."""

import asyncio
from collections import Counter

import pytest

from devkit.load import Connection, drive, encoded_verify

# A body that looks like the start of another answer: a client that left it unread would take it for the next head.
BODY = b'{"x": "\r\n\r\nHTTP/1.1 500 Oops\r\n"}'
ANSWERS = [b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(BODY), BODY),
           b"HTTP/1.1 429 Too Many Requests\r\ncontent-length: 3\r\nconnection: close\r\n\r\n{ }"]


async def scripted_server(requests_per_connection: list[int], answers: list[bytes]) -> asyncio.Server:
    """Reads each request by its Content-Length and answers `answers` in turn on each connection."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served = 0
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            answer = answers[served % len(answers)]
            served += 1
            writer.write(answer)
            await writer.drain()
            if b"connection: close" in answer:
                break
        requests_per_connection.append(served)
        writer.close()

    return await asyncio.start_server(serve, "127.0.0.1", 0)


def test_answers_are_read_whole_on_one_connection_until_the_server_closes_it() -> None:
    async def scenario() -> tuple[list[int], list[int]]:
        served: list[int] = []
        server = await scripted_server(served, ANSWERS)
        connection = Connection(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
        request = encoded_verify(connection.authority, b"selfie", b"reference")
        statuses = [await connection.send(request) for _ in range(5)]
        connection.close()
        await asyncio.sleep(0.05)
        server.close()
        return statuses, served

    statuses, served = asyncio.run(scenario())
    assert statuses == [200, 429, 200, 429, 200]
    assert served == [2, 2, 1]  # kept alive across a 200, opened again after each "connection: close"


def test_an_answer_that_is_not_http_is_a_connection_error() -> None:
    async def scenario() -> None:
        server = await scripted_server([], [b"SSH-2.0-OpenSSH\r\n\r\n"])
        connection = Connection(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
        try:
            await connection.send(encoded_verify(connection.authority, b"a", b"b"))
        finally:
            connection.close()
            server.close()

    with pytest.raises(ConnectionError, match="not an HTTP/1.x answer"):
        asyncio.run(scenario())


def test_the_closed_loop_counts_every_answer_and_times_the_successes() -> None:
    async def scenario(answers: list[bytes]) -> tuple[Counter[int | str], int]:
        server = await scripted_server([], answers)
        statuses: Counter[int | str] = Counter()
        latencies: list[float] = []
        await drive(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", [(b"a", b"b")], 2,
                    asyncio.get_running_loop().time() + 0.5, statuses, latencies)
        server.close()
        return statuses, len(latencies)

    statuses, timed = asyncio.run(scenario(ANSWERS))
    assert set(statuses) == {200, 429} and timed == statuses[200] > 0
    statuses, timed = asyncio.run(scenario([b"garbage\r\n\r\n"]))
    assert set(statuses) == {"ConnectionError"} and timed == 0
