"""The user service: a profile alone, or with what presence says."""

from __future__ import annotations

import pytest

from switchboard.ids import new_id
from switchboard.services.errors import USER_NOT_FOUND, ErrorKind, ServiceError
from tests.services.conftest import World


async def test_profile_leaves_presence_out_and_get_asks_it(world: World) -> None:
    world.connect(world.alice, "phone")
    profile = await world.services.users.profile(user_id=world.alice)
    assert profile.username == "alice" and profile.online is False
    assert (await world.services.users.get(user_id=world.alice)).online is True
    assert (await world.services.users.get(user_id=world.bob)).online is False


@pytest.mark.parametrize("user_id", ["not-an-id", new_id()])
async def test_profile_of_no_such_user_is_not_found(world: World, user_id: str) -> None:
    with pytest.raises(ServiceError) as raised:
        await world.services.users.profile(user_id=user_id)
    assert (raised.value.kind, raised.value.code) == (ErrorKind.NOT_FOUND, USER_NOT_FOUND)
