%% @doc A stream whose generator runs on another node, seen from its owner's node: forwards its messages and turns a lost node into an error.
%%
%% `py:stream_start({Pool, Node}, ...)' (or a context of another node, or
%% `{cluster, Pool}' when it picks another node) starts the stream in that
%% node's `py_stream', with this relay as its owner:
%% <ol>
%% <li>Every `{py_stream, Ref, Message}' from there comes to the relay and
%%     goes on to the real owner at once, in order; the relay keeps nothing,
%%     so the window holds as on one node: the credit is kept, and the
%%     generator held, on the node that runs it. `py:stream_ack' and
%%     `py:stream_cancel' go straight to that node (a stream's Ref is made
%%     there, so `node(Ref)' names it).</li>
%% <li>The relay monitors that node's `py_stream': when the node goes down
%%     (or its stream server dies) before the stream ended, the owner gets
%%     `{py_stream, Ref, {error, {nodedown, Node}}}'.</li>
%% <li>The relay monitors the owner: when the owner exits, so does the
%%     relay, and the node that runs the stream, which monitors the relay
%%     as its owner, cancels it.</li>
%% <li>After a `py:stream_cancel' that node tells the relay to stop,
%%     quietly (nothing more reaches the owner).</li>
%% </ol>
-module(py_stream_relay).

-export([start/5]).
-export([init/7]).

%% @doc Starts stream Source on Target of Node for Owner: `{ok, Ref}' once
%% it runs there, or the error.
-spec start(node(), py_pool:target(), {binary(), list()}, pid(), pos_integer() | infinity) ->
          {ok, reference()} | {error, term()}.
start(Node, Target, Source, Owner, Window) ->
    Tag = make_ref(),
    {Relay, Mon} = spawn_monitor(?MODULE, init, [self(), Tag, Node, Target, Source, Owner, Window]),
    receive
        {Tag, Reply} ->
            demonitor(Mon, [flush]),
            Reply;
        {'DOWN', Mon, process, Relay, Reason} ->
            {error, Reason}
    end.

%% @private The relay's life.
-spec init(pid(), reference(), node(), py_pool:target(), {binary(), list()}, pid(),
           pos_integer() | infinity) -> ok.
init(Caller, Tag, Node, Target, Source, Owner, Window) ->
    OwnerMon = monitor(process, Owner),
    case py_dist:erpc_call(Node, py_stream, start_relayed, [Target, Source, self(), Window],
                           py_call:default_timeout()) of
        {ok, Ref} ->
            ServerMon = monitor(process, {py_stream, Node}),
            Caller ! {Tag, {ok, Ref}},
            relay(Ref, Node, Owner, OwnerMon, ServerMon);
        {error, _} = Error ->
            Caller ! {Tag, Error},
            ok
    end.

%% Internal.

relay(Ref, Node, Owner, OwnerMon, ServerMon) ->
    receive
        {py_stream, Ref, {data, _}} = Item ->
            Owner ! Item,
            relay(Ref, Node, Owner, OwnerMon, ServerMon);
        {py_stream, Ref, _End} = End ->
            Owner ! End,
            ok;
        {py_stream_relay, Ref, stop} ->
            ok;
        {'DOWN', OwnerMon, process, _, _} ->
            ok;
        {'DOWN', ServerMon, process, _, _} ->
            Owner ! {py_stream, Ref, {error, {nodedown, Node}}},
            ok
    end.
