"""/conversations: the 1:1 threads calls belong to."""

from __future__ import annotations

from fastapi import APIRouter, status

from switchboard.api.deps import CurrentUserId, ServicesDep
from switchboard.api.openapi import AUTHENTICATED, errors
from switchboard.api.responses import WireResponse
from switchboard.api.schemas import ConversationEnvelope, ConversationIn, ConversationsEnvelope
from switchboard.wire import conversation_wire

router = APIRouter(prefix="/conversations", tags=["conversations"], responses=AUTHENTICATED)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ConversationEnvelope,
    responses={
        200: {"model": ConversationEnvelope, "description": "It existed already"},
        **errors(404, 415, 422),
    },
)
async def open_conversation(
    body: ConversationIn, user_id: CurrentUserId, services: ServicesDep
) -> WireResponse:
    conversation, created = await services.conversations.open(
        user_id=user_id, participant_ids=body.participant_ids
    )
    return WireResponse(
        {"conversation": conversation_wire(conversation)},
        status.HTTP_201_CREATED if created else status.HTTP_200_OK,
    )


@router.get("", response_model=ConversationsEnvelope)
async def list_conversations(user_id: CurrentUserId, services: ServicesDep) -> WireResponse:
    conversations = await services.conversations.list_mine(user_id=user_id)
    return WireResponse({"conversations": [conversation_wire(c) for c in conversations]})


@router.get("/{conversation_id}", response_model=ConversationEnvelope, responses=errors(404, 422))
async def get_conversation(
    conversation_id: str, user_id: CurrentUserId, services: ServicesDep
) -> WireResponse:
    conversation = await services.conversations.get(
        user_id=user_id, conversation_id=conversation_id
    )
    return WireResponse({"conversation": conversation_wire(conversation)})
