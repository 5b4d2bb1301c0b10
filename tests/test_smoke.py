async def test_three_parties_meet(server):
    room = await server.platform.open_room("T-1")
    client, _ = await server.peer(room, "c-1", "client")
    freelancer, _ = await server.peer(room, "f-1", "freelancer")
    await client.send("a", "joint", "hi")
    ack = await client.next("ack")
    got = await freelancer.next("message")
    assert ack["seq"] == got["seq"] == 1
    assert got["body"] == "hi"
