// One file to a room's evidence locker (docs/attachments.md) over
// XMLHttpRequest, because unlike fetch it reports upload progress.

export class UploadError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status; // 0: no answer (the connection failed, or we aborted)
    this.code = code;
  }

  /** Worth sending again as is: the network failed or the server was briefly unavailable. */
  get retryable() {
    return this.code !== 'aborted' && (this.status === 0 || this.status >= 500);
  }
}

/**
 * Start sending `file` as the raw body of a POST to `url`, with `headers` besides the token.
 * @returns {{done: Promise<object>, abort(): void}} `done` resolves with the server's
 *   JSON (the file's facts) or rejects with an UploadError.
 */
export function sendFile({ url, token, file, headers = {}, onProgress = () => {} }) {
  const xhr = new XMLHttpRequest();
  const done = new Promise((resolve, reject) => {
    xhr.open('POST', url);
    xhr.setRequestHeader('authorization', `Bearer ${token}`);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    // The server reads the type from the bytes; the browser's guess is not sent.
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch { /* not JSON: a proxy's page, say */ }
      if (xhr.status >= 200 && xhr.status < 300 && body) {
        onProgress(file.size, file.size);
        resolve(body);
        return;
      }
      const detail = body?.error ?? {};
      reject(new UploadError(xhr.status, detail.code ?? 'other', detail.message ?? xhr.statusText));
    };
    xhr.onerror = () => reject(new UploadError(0, 'network', ''));
    xhr.onabort = () => reject(new UploadError(0, 'aborted', ''));
    xhr.send(file);
  });
  return { done, abort: () => xhr.abort() };
}
