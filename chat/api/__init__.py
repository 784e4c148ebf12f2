"""chat's REST routers (paths relative to /api/)."""

from ninja import Router

from chat.api import friends, messages, profiles

router = Router()
router.add_router("", profiles.router)
router.add_router("", friends.router)
router.add_router("", messages.router)
