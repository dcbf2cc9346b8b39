"""devkit.load's bare keep-alive client against a scripted server on 127.0.0.1: statuses read, bodies consumed,
one connection kept until the server closes it."""

import asyncio
from collections import Counter

from devkit.load import Connection, drive

ANSWERS = [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}",
           b"HTTP/1.1 429 Too Many Requests\r\ncontent-length: 3\r\nconnection: close\r\n\r\n{ }"]


async def scripted_server(connections: list[int]) -> asyncio.Server:
    """Reads each request by its Content-Length and answers ANSWERS in turn; counts requests per connection."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(0)
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            answer = ANSWERS[connections[-1] % len(ANSWERS)]
            connections[-1] += 1
            writer.write(answer)
            await writer.drain()
            if b"connection: close" in answer:
                break
        writer.close()

    return await asyncio.start_server(serve, "127.0.0.1", 0)


def test_answers_are_read_whole_on_one_connection_until_the_server_closes_it() -> None:
    async def scenario() -> tuple[list[int], list[int]]:
        connections: list[int] = []
        server = await scripted_server(connections)
        port = server.sockets[0].getsockname()[1]
        connection = Connection(f"http://127.0.0.1:{port}")
        request = connection.request((b"selfie", b"reference"))
        statuses = [await connection.send(request) for _ in range(5)]
        connection.close()
        server.close()
        return statuses, connections

    statuses, connections = asyncio.run(scenario())
    assert statuses == [200, 429, 200, 429, 200]
    assert connections == [2, 2, 1]  # kept alive across a 200, opened again after each "connection: close"


def test_the_closed_loop_counts_every_answer_and_times_the_successes() -> None:
    async def scenario() -> tuple[Counter[int | str], int]:
        server = await scripted_server([])
        port = server.sockets[0].getsockname()[1]
        statuses: Counter[int | str] = Counter()
        latencies: list[float] = []
        await drive(f"http://127.0.0.1:{port}", [(b"a", b"b")], 2, asyncio.get_running_loop().time() + 0.5,
                    statuses, latencies)
        server.close()
        return statuses, len(latencies)

    statuses, timed = asyncio.run(scenario())
    assert set(statuses) == {200, 429} and timed == statuses[200] > 0
