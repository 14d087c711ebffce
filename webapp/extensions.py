"""Extension objects, created unbound here and bound to the app in the factory.

This module imports nothing of the app, so any module may import it without a cycle.
"""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
# Storage comes from RATELIMIT_STORAGE_URI: memory by default, a shared store (redis://...)
# when several servers run. Only staff login is limited; patient pages are not.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
