"""Moderator profiles (issue 17): the languages, skills and tier the queue routes by."""
