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

/**
 * The Content-Disposition header naming an upload (RFC 8187: UTF-8, percent-encoded).
 * A file's name and a deletion's reason never go in a URL: URLs are logged.
 */
export function disposition(name) {
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename*=UTF-8''${encoded}`;
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

  /** Start an upload: {done, abort} (see shared/upload.js); `request`: the seq of the
   * evidence request it answers (null: none). */
  upload(channel, file, onProgress, request = null) {
    const answers = request == null ? '' : `&request=${encodeURIComponent(request)}`;
    const url = `${this.base}${this._path()}?channel=${encodeURIComponent(channel)}${answers}`;
    const headers = { 'content-disposition': disposition(uploadName(file.name)) };
    return sendFile({ url, token: this.token, file, headers, onProgress });
  }

  /** Fetch a file with the token and save it under the name the server gives it (its
   * own, with an extension that fits its type). Rejects with an ApiError. */
  async save({ file, name }) {
    const fetched = await this.api.get(this._path(file), { as: 'download' });
    saveBlob(fetched.blob, fetched.name || name);
  }

  /** Fetch the room's signed settlement document (once both parties accepted) and save
   * its bytes exactly as signed: one byte changed and it no longer verifies. */
  async saveSettlement() {
    const room = encodeURIComponent(this.room);
    const fetched = await this.api.get(`/api/rooms/${room}/settlement`, { as: 'download' });
    saveBlob(fetched.blob, fetched.name || `${this.room}.settlement.json`);
  }

  remove(file, reason = '') {
    return this.api.delete(this._path(file), { reason });
  }
}
