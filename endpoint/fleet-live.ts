/**
 * The one script of the fleet and node pages: it keeps them current without reloading. It listens to the
 * endpoint's event stream (GET /v1/fleet/events, server-sent events) and, at most once a second, fetches the page
 * again and swaps its <main> for the new one, so the page has one renderer (the endpoint's) with or without it.
 * Without EventSource, or once the stream is refused or closed for good, it reloads the page every `refresh`
 * seconds instead, as the page without a script does (its <noscript> refresh).
 *
 * EventSource reconnects by itself after a dropped connection (at the stream's `retry`), and its readyState is
 * CLOSED only when it gave up: an answer that is not 200 text/event-stream, e.g. the 503 of a full endpoint
 * (HTML Living Standard, "Server-sent events", https://html.spec.whatwg.org/multipage/server-sent-events.html: "Once the
 * user agent has failed the connection, it does not attempt to reconnect"; web-platform-tests
 * eventsource/request-status-error.window.js expects CLOSED after a 503; read 2026-12-06).
 *
 * The page's Content-Security-Policy allows this script by its hash and no other, so nothing that slipped into
 * the markup could run.
 */
import { createHash } from 'node:crypto';

/**
 * The script's text; `refresh` is filled in by the page, a whole number of seconds (renderFleetPage checks it).
 * It also draws the timeline's tooltip: the bar under the pointer, from its row's data-bars (fleet-timeline.ts).
 * A page of a thousand nodes takes the endpoint a while to make, so the next fetch waits at least four times as
 * long as the last one took: an open tab never keeps the endpoint busy more than a fifth of the time.
 */
export function liveScript(refreshSeconds: number): string {
  return `(function(){
var refresh=${refreshSeconds}*1000,busy=false,again=false,last=0,took=0;
function fmt(ms){return ms<1000?Math.round(ms)+' ms':ms<60000?(ms/1000).toFixed(1)+' s':Math.floor(ms/60000)+'m '+String(Math.round(ms/1000)%60).padStart(2,'0')+'s';}
var tip=document.createElement('div');tip.className='tip';tip.hidden=true;document.body.appendChild(tip);
document.addEventListener('mousemove',function(e){
  var g=e.target&&e.target.closest?e.target.closest('svg.timeline g[data-bars]'):null,hit=null;
  if(g){
    var svg=g.ownerSVGElement,p=svg.createSVGPoint();p.x=e.clientX;p.y=e.clientY;
    var x=p.matrixTransform(svg.getScreenCTM().inverse()).x;
    g.dataset.bars.split(';').forEach(function(b){var f=b.split(',');if(f.length>6&&x>=+f[3]&&x<=+f[3]+(+f[4]))hit=f;});
  }
  if(!hit){tip.hidden=true;return;}
  tip.textContent=g.dataset.node+' · '+hit[1]+' · '+hit[0]+' '+hit[2]+': +'+fmt(+hit[5])+' → +'+fmt(+hit[5]+(+hit[6]))+', '+fmt(+hit[6]);
  tip.style.left=(e.pageX+12)+'px';tip.style.top=(e.pageY+12)+'px';tip.hidden=false;
});
function reloadLater(){setTimeout(function(){location.reload();},refresh);}
if(!window.EventSource||!window.fetch||!window.DOMParser){reloadLater();return;}
function swap(){
  if(busy){again=true;return;}
  busy=true;again=false;var started=Date.now();
  fetch(location.href,{cache:'no-store',credentials:'same-origin'}).then(function(r){
    if(!r.ok)throw new Error(String(r.status));return r.text();
  }).then(function(text){
    var next=new DOMParser().parseFromString(text,'text/html').querySelector('main');
    var main=document.querySelector('main');
    if(next&&main){main.replaceWith(next);wire();document.documentElement.dataset.updated=String(Date.now());}
  }).catch(function(){}).then(function(){last=Date.now();took=last-started;busy=false;if(again)later();});
}
var timer=0;
function later(){if(timer)return;timer=setTimeout(function(){timer=0;swap();},Math.max(0,Math.max(1000,4*took)-(Date.now()-last)));}
function wire(){
  var form=document.querySelector('form.filters');
  if(form)form.addEventListener('change',function(){form.submit();});
}
wire();
var source=new EventSource('/v1/fleet/events');
source.addEventListener('node',later);
source.addEventListener('open',function(){document.documentElement.dataset.live='on';});
source.addEventListener('error',function(){
  if(source.readyState===2){document.documentElement.dataset.live='off';reloadLater();}
});
})();`;
}

/** The Content-Security-Policy a page with `script` carries: that script alone, inline styles, fetches to itself. */
export function contentSecurityPolicy(script: string): string {
  const hash = createHash('sha256').update(script).digest('base64');
  // CSP Level 3 hash sources and directives (https://www.w3.org/TR/CSP3/#grammardef-hash-source, read 2026-12-06).
  return `default-src 'none'; script-src 'sha256-${hash}'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'self'; base-uri 'none'`;
}
