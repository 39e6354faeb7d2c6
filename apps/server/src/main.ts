import { serve } from './serve';

// `npm start`: the gateway from source (tsx). The compiled build runs it as `kmsgate serve`.
serve();
