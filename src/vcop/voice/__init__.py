"""Victim Voice: the victim's own account of how they were treated, asked for by a one-time link.

* :mod:`vcop.voice.questions` declares the questionnaire once: each question's column in
  ``survey_responses``, its wording and its answers. The page, the check of a posted form, the
  operational store and the copy into the build all read it.
* :mod:`vcop.voice.invitations` chooses the victims due a questionnaire (``vcop survey invite``)
  and issues each a random single-use link; only the SHA-256 of its token is stored.
* :mod:`vcop.voice.answers` looks a link up, limits guessing per client address, stores an
  answer (free text scrubbed by :mod:`vcop.privacy` first) and, at each refresh, copies the
  answers into the build's ``survey_responses``.

Tokens and answers live in the operational store (SQLite); the build only ever receives the
answers, at a refresh. vcop never holds a phone number or an address: the force's own SMS or
email sender joins the links to its contact details.
"""
