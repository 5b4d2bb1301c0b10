"""Encrypted, tamper-evident persistence of dispute transcripts."""
