%% @doc Streams: a Python generator's items sent to an Erlang process as
%% they come, with an optional credit window (back-pressure).
%%
%% == Message flow ==
%% <ol>
%% <li>`py:stream_start' registers the stream here (the owner is monitored)
%%     and spawns a runner, which posts one `call' request of
%%     `erlang._stream.run' and waits for its end.</li>
%% <li>In the port, that request iterates the generator on one executor
%%     thread and sends each item to the owner with `erlang.send':
%%     `{py_stream, Ref, {data, Item}}'.</li>
%% <li>With a window of N, after N unacknowledged items the Python thread
%%     asks for credit (a built-in request its handler process serves with
%%     `credit/1', which blocks until `py:stream_ack' gives some): the
%%     generator is not advanced meanwhile.</li>
%% <li>At the end the thread's handler, which also forwarded the items, sends
%%     `{py_stream, Ref, done}' or `{py_stream, Ref, {error, Reason}}': it
%%     arrives after the last item.</li>
%% <li>`py:stream_cancel', or the owner's death, abandons the request: the
%%     generator's thread gets a TimeoutError and the generator is closed
%%     (its `finally' runs); nothing more is sent. If the port dies first,
%%     the owner gets `{error, {port_exit, How}}'.</li>
%% </ol>
%% A stream for an owner on another node is started here by its relay
%% (`py_stream_relay', on the owner's node), which is its owner here; acks
%% and cancels come here from that node (`node(Ref)' is this node).
-module(py_stream).
-behaviour(gen_server).

-include("py_protocol.hrl").

-export([start_link/0, start/4, start_relayed/4, ack/2, cancel/1, credit/1, finish/1]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

-record(stream, {
    owner :: pid(),
    monitor :: reference(),
    window :: pos_integer() | infinity,
    credit = 0 :: non_neg_integer(),          % acks not yet handed to Python
    waiter :: gen_server:from() | undefined,   % a handler blocked in credit/1
    runner :: pid() | undefined,
    request :: {non_neg_integer(), ets:tid()} | undefined,
    ended = false :: boolean(),                % the end was sent (finish/1)
    cancelled = false :: boolean(),
    relayed = false :: boolean()               % the owner is a py_stream_relay
}).

%% API.

-spec start_link() -> {ok, pid()} | {error, term()}.
start_link() ->
    gen_server:start_link({local, ?MODULE}, ?MODULE, [], []).

%% @doc Starts a stream of the source {Kind, Spec} (see erlang._stream) on
%% Target (a pool or a context of this node) to Owner; Window is the most
%% items unacknowledged, or infinity. The stream stays on the member its
%% request went to.
-spec start(py_pool:target(), {binary(), list()}, pid(), pos_integer() | infinity) ->
          {ok, reference()}.
start(Target, Source, Owner, Window) ->
    start(Target, Source, Owner, Window, false).

%% @doc start/4 for a relay (`py_stream_relay') of another node: it is told
%% `{py_stream_relay, Ref, stop}' when the stream is cancelled.
-spec start_relayed(py_pool:target(), {binary(), list()}, pid(), pos_integer() | infinity) ->
          {ok, reference()}.
start_relayed(Target, Source, Relay, Window) ->
    start(Target, Source, Relay, Window, true).

%% @doc Acknowledges K items of stream Ref: up to K more may be sent (on
%% the node that runs it).
-spec ack(reference(), pos_integer()) -> ok.
ack(Ref, K) ->
    gen_server:cast({?MODULE, node(Ref)}, {ack, Ref, K}).

%% @doc Stops stream Ref; nothing more is sent to its owner. A stream of a
%% node that is down is over already.
-spec cancel(reference()) -> ok.
cancel(Ref) ->
    case node(Ref) of
        Here when Here =:= node() ->
            gen_server:call(?MODULE, {cancel, Ref});
        Node ->
            try gen_server:call({?MODULE, Node}, {cancel, Ref})
            catch exit:_ -> ok
            end
    end.

%% @doc For the handler of the stream's Python thread: waits for credit and
%% returns how many more items may be sent.
-spec credit(reference()) -> {ok, pos_integer()} | {error, cancelled}.
credit(Ref) ->
    gen_server:call(?MODULE, {credit, Ref}, infinity).

%% @doc For the handler of the stream's Python thread, at the end: whether
%% the owner is to be told (not after a cancel).
-spec finish(reference()) -> notify | quiet.
finish(Ref) ->
    gen_server:call(?MODULE, {finish, Ref}, infinity).

%% gen_server.

-spec init([]) -> {ok, #{reference() => #stream{}}}.
init([]) ->
    {ok, #{}}.

-spec handle_call(term(), gen_server:from(), map()) -> {reply, term(), map()} | {noreply, map()}.
handle_call({start, Ref, Target, Source, Owner, Window, Relayed}, _From, Streams) ->
    Self = self(),
    Runner = spawn(fun() -> run(Self, Ref, Target, Source, Owner, Window) end),
    _ = monitor(process, Runner),
    S = #stream{owner = Owner, monitor = monitor(process, Owner), window = Window,
                runner = Runner, relayed = Relayed},
    {reply, ok, Streams#{Ref => S}};
handle_call({cancel, Ref}, _From, Streams) ->
    {reply, ok, stop(Ref, Streams)};
handle_call({credit, Ref}, From, Streams) ->
    case Streams of
        #{Ref := S = #stream{cancelled = false, credit = 0}} ->
            {noreply, Streams#{Ref := S#stream{waiter = From}}};
        #{Ref := S = #stream{cancelled = false, credit = C}} ->
            {reply, {ok, C}, Streams#{Ref := S#stream{credit = 0}}};
        #{} ->
            {reply, {error, cancelled}, Streams}
    end;
handle_call({finish, Ref}, _From, Streams) ->
    case Streams of
        #{Ref := S = #stream{cancelled = false}} ->
            {reply, notify, Streams#{Ref := S#stream{ended = true}}};
        #{} ->
            {reply, quiet, Streams}
    end.

-spec handle_cast(term(), map()) -> {noreply, map()}.
handle_cast({ack, Ref, K}, Streams) ->
    case Streams of
        #{Ref := S = #stream{waiter = undefined, credit = C}} ->
            {noreply, Streams#{Ref := S#stream{credit = C + K}}};
        #{Ref := S = #stream{waiter = From, credit = C}} ->
            gen_server:reply(From, {ok, C + K}),
            {noreply, Streams#{Ref := S#stream{waiter = undefined, credit = 0}}};
        #{} ->
            {noreply, Streams}
    end;
handle_cast({posted, Ref, Request}, Streams) ->
    case Streams of
        #{Ref := S = #stream{cancelled = true}} ->
            abandon(S#stream{request = Request}),
            {noreply, Streams};
        #{Ref := S} ->
            {noreply, Streams#{Ref := S#stream{request = Request}}};
        #{} ->
            {noreply, Streams}
    end;
handle_cast({finished, Ref, Result}, Streams) ->
    case maps:take(Ref, Streams) of
        {S = #stream{ended = false, cancelled = false}, Rest} ->
            %% The request ended without the stream's end: the port died,
            %% or the source could not even start.
            S#stream.owner ! {py_stream, Ref, {error, reason(Result)}},
            demonitor(S#stream.monitor, [flush]),
            {noreply, Rest};
        {S, Rest} ->
            demonitor(S#stream.monitor, [flush]),
            {noreply, Rest};
        error ->
            {noreply, Streams}
    end.

-spec handle_info(term(), map()) -> {noreply, map()}.
handle_info({'DOWN', Mon, process, _, _}, Streams) ->
    %% An owner died: its streams stop. (A runner's own 'DOWN' follows its
    %% `finished', or means it crashed: its stream ends with an error.)
    Owned = [Ref || {Ref, #stream{monitor = M}} <- maps:to_list(Streams), M =:= Mon],
    Crashed = [Ref || {Ref, #stream{runner = P}} <- maps:to_list(Streams),
                      P =/= undefined, not is_process_alive(P)],
    S1 = lists:foldl(fun stop/2, Streams, Owned),
    {noreply, lists:foldl(fun(Ref, Acc) ->
                                  {noreply, Acc1} = handle_cast({finished, Ref, {error, runner_died}}, Acc),
                                  Acc1
                          end, S1, [R || R <- Crashed, maps:is_key(R, S1)])};
handle_info(_Other, Streams) ->
    {noreply, Streams}.

%% Internal.

start(Target, Source, Owner, Window, Relayed) ->
    Ref = make_ref(),
    ok = gen_server:call(?MODULE, {start, Ref, Target, Source, Owner, Window, Relayed}),
    {ok, Ref}.

%% The runner: one request for the stream's whole life.
run(Server, Ref, Target, {Kind, Spec}, Owner, Window) ->
    Term = {<<"erlang._stream">>, <<"run">>,
            [Owner, Ref, case Window of infinity -> none; N -> N end, Kind, Spec], #{}},
    Result = case py_call:post_to(Target, ?PY_CALL, Term, default) of
                 {posted, RRef, Pending, _} ->
                     gen_server:cast(Server, {posted, Ref, {RRef, Pending}}),
                     py_call:await(RRef, Pending, infinity);
                 {error, _} = Error ->
                     Error
             end,
    gen_server:cast(Server, {finished, Ref, Result}).

%% Marks the stream cancelled: a handler waiting for credit is told, and the
%% request is interrupted (its generator closed). Kept until the runner ends.
stop(Ref, Streams) ->
    case Streams of
        #{Ref := S = #stream{cancelled = false}} ->
            case S#stream.waiter of
                undefined -> ok;
                From -> gen_server:reply(From, {error, cancelled})
            end,
            abandon(S),
            case S#stream.relayed of
                true -> S#stream.owner ! {py_stream_relay, Ref, stop};
                false -> ok
            end,
            Streams#{Ref := S#stream{cancelled = true, waiter = undefined}};
        #{} ->
            Streams
    end.

abandon(#stream{request = undefined}) ->
    ok; % not posted yet: done when the runner tells us
abandon(#stream{request = {RRef, Pending}, runner = Runner}) ->
    py_call:abandon(RRef, Pending, Runner).

reason({error, Reason}) -> Reason;
reason({ok, _}) -> ended_without_end.
