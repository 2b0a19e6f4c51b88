def test_world_reaches_published(world):
    meeting = world.meeting("published")
    assert meeting.state == "published"
    assert [t.action for t in meeting.transitions] == ["submit", "approve", "publish"]


def test_api_login_and_list(client, world, token_for):
    world.meeting("published")
    resp = client.get("/api/v1/meetings", headers=token_for(world.delegate))
    assert resp.status_code == 200
    assert resp.json["total"] == 1
