// The whole package kept alive (every export reachable), for the bundle-size figure.
import * as pcisim from 'pcisim';

globalThis.pcisim = pcisim;
