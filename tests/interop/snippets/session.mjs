// The article, "Session cookies" — its example is the server (express-session:
// `app.get('/')` sets `req.session.userId`, `app.get('/protected')` answers
// `Hello user <id>` or 401). The demo serves those two routes as `GET /session/start` and
// `GET /session/protected`; this is the client the article implies, axios with a cookie jar,
// plus the demo's real login and its CSRF-protected logout.
import axios from 'axios';
import { wrapper } from 'axios-cookiejar-support';
import { CookieJar } from 'tough-cookie';

/** A client with its own cookie jar, as a browser tab would have. */
export function sessionClient(baseURL) {
  const jar = new CookieJar();
  return { jar, http: wrapper(axios.create({ baseURL, jar })) };
}

/** The article's two routes: establish the session, then use it. */
export async function articleSession(baseURL) {
  const { jar, http } = sessionClient(baseURL);
  const established = await http.get('/session/start');
  const protectedPage = await http.get('/session/protected');
  return { jar, established: established.data, protected: protectedPage.data };
}
