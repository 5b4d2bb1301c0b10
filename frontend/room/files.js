// A room's evidence locker, with the room token: upload, download, delete.
// A plain <a href> cannot carry the Authorization header, so a download is
// fetched by script and saved from a Blob.

import { Api } from '../shared/api.js';
import { saveBlob } from '../shared/save.js';
import { sendFile } from '../shared/upload.js';

const MAX_NAME = 255; // the server's limit for a file's name

/** The name to upload under: 1-255 characters, the extension kept when shortened. */
export function uploadName(name) {
  const clean = (name || 'file').replace(/[\u0000-\u001f\u007f]/g, '_');
  if (clean.length <= MAX_NAME) return clean;
  const dot = clean.lastIndexOf('.');
  const ext = dot > 0 && clean.length - dot <= 16 ? clean.slice(dot) : '';
  return clean.slice(0, MAX_NAME - ext.length) + ext;
}

export class RoomFiles {
  constructor(room, token, base = '') {
    this.room = room;
    this.token = token;
    this.base = base;
    this.api = new Api(token, base);
  }

  /** A fresh room token (the socket's was refreshed): later calls use it. */
  setToken(token) {
    this.token = token;
    this.api.token = token;
  }

  _path(file = '') {
    const room = encodeURIComponent(this.room);
    return `/api/rooms/${room}/files${file ? `/${encodeURIComponent(file)}` : ''}`;
  }

  /** Start an upload: {done, abort} (see shared/upload.js). */
  upload(channel, file, onProgress) {
    const q = `channel=${encodeURIComponent(channel)}&name=${encodeURIComponent(uploadName(file.name))}`;
    return sendFile({ url: `${this.base}${this._path()}?${q}`, token: this.token, file, onProgress });
  }

  /** Fetch a file with the token and save it under its name. Rejects with an ApiError. */
  async save({ file, name }) {
    saveBlob(await this.api.get(this._path(file), { as: 'blob' }), name);
  }

  remove(file, reason = '') {
    return this.api.delete(`${this._path(file)}?reason=${encodeURIComponent(reason)}`);
  }
}
