-- Inline suggestions (ghost text) drawn by the plugin, for Neovim 0.11, which can send the LSP 3.18
-- `textDocument/inlineCompletion` request but has no UI for it (0.12 has: see init.lua).
--
-- One state per buffer. As you type (InsertEnter, TextChangedI, CursorMovedI), a timer waits
-- `debounce_ms`, then asks for an Automatic suggestion (one item), cancelling the request before it.
-- A suggestion is one extmark at the cursor: its first line as inline virtual text, the other lines as
-- virtual lines. Typing the start of the suggestion keeps it (typed-through) without asking the server.
-- `next`/`prev` cycle through the ranked items of an Invoked request (asked for when only the automatic
-- item is there); `accept` inserts the item over its range and runs its command (codescaler.accepted).
--
-- Items are kept "at the cursor": `text` is what goes after the cursor, `row`/`col` the cursor (bytes),
-- `end_col` the end of what the item replaces on that line (auto-closed brackets), `raw` the server's item.

local api = vim.api

local M = {}

M.ns = api.nvim_create_namespace("codescaler.inline")
M.hl = "CodescalerSuggestion"
M.hl_count = "CodescalerSuggestionCount"

local INVOKED, AUTOMATIC = 1, 2
local METHOD = "textDocument/inlineCompletion"

local options = { debounce_ms = 100, auto_trigger = true }
local enabled = true
---@type table<integer, table>
local states = {}

api.nvim_set_hl(0, M.hl, { link = "Comment", default = true })
api.nvim_set_hl(0, M.hl_count, { link = "NonText", default = true })

---@param opts {debounce_ms: number, auto_trigger: boolean}
function M.configure(opts)
  options = opts
end

local function in_insert_mode()
  return api.nvim_get_mode().mode:sub(1, 1) == "i"
end

local function current_window(bufnr)
  local win = api.nvim_get_current_win()
  if api.nvim_win_get_buf(win) == bufnr then
    return win
  end
end

local function line_at(bufnr, row)
  return api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ""
end

local function byte_col(line, character, encoding)
  if encoding == "utf-8" then
    return math.min(character, #line)
  end
  local ok, col = pcall(vim.str_byteindex, line, encoding, character, false)
  return ok and math.min(col, #line) or #line
end

local function client_of(st)
  local client = vim.lsp.get_client_by_id(st.client_id)
  if client and not client:is_stopped() then
    return client
  end
end

local function stop_timer(st)
  if st.timer and not st.timer:is_closing() then
    st.timer:stop()
  end
end

local function cancel(st)
  stop_timer(st)
  if st.pending then
    local client = client_of(st)
    if client then
      client:cancel_request(st.pending)
    end
    st.pending = nil
  end
end

local function hide(st)
  if api.nvim_buf_is_valid(st.bufnr) then
    api.nvim_buf_clear_namespace(st.bufnr, M.ns, 0, -1)
  end
  st.extmark = nil
end

local function clear(st)
  hide(st)
  st.items, st.index, st.invoked = {}, 0, false
end

--- Text as Neovim shows it in a buffer (control characters as ^A, <85>, ...; tabs stay tabs), for
--- virtual text, which would otherwise show some of them raw.
local function printable(text)
  local parts = vim.split(text, "\t", { plain = true })
  for i, part in ipairs(parts) do
    parts[i] = vim.fn.strtrans(part)
  end
  return table.concat(parts, "\t")
end
M.printable = printable

--- Draw the current item at its anchor.
local function render(st, show_count)
  hide(st)
  local item = st.items[st.index]
  local lines = vim.split(item.text, "\n", { plain = true })
  -- Auto-closed brackets the item replaces stay visible right after it: do not draw them twice.
  local replaced = line_at(st.bufnr, item.row):sub(item.col + 1, item.end_col)
  if #lines == 1 and replaced ~= "" and vim.endswith(lines[1], replaced) then
    lines[1] = lines[1]:sub(1, #lines[1] - #replaced)
  end
  local virt_text = { { printable(lines[1]), M.hl } }
  local virt_lines = {}
  for i = 2, #lines do
    virt_lines[#virt_lines + 1] = { { printable(lines[i]), M.hl } }
  end
  if show_count and #st.items > 1 then
    local last = virt_lines[#virt_lines] or virt_text
    last[#last + 1] = { (" (%d/%d)"):format(st.index, #st.items), M.hl_count }
  end
  st.extmark = api.nvim_buf_set_extmark(st.bufnr, M.ns, item.row, item.col, {
    virt_text = virt_text,
    virt_text_pos = "inline",
    virt_lines = #virt_lines > 0 and virt_lines or nil,
    hl_mode = "combine",
  })
  st.tick = api.nvim_buf_get_changedtick(st.bufnr)
  st.suffix = line_at(st.bufnr, item.row):sub(item.col + 1)
  if not item.shown then -- Copilot-style "shown" report; the server counts them
    item.shown = true
    local client = client_of(st)
    if client then
      client:notify("textDocument/didShowCompletion", { item = item.raw })
    end
  end
end

local function present(st, items, index, show_count)
  st.items, st.index = items, index
  render(st, show_count)
end

--- The server's answer as items at the cursor (row, col in bytes); items that do not start at the
--- cursor (nor extend the text between their start and the cursor) are left out, duplicates too.
local function to_items(st, result, encoding, row, col)
  local items, seen = {}, {}
  local line = line_at(st.bufnr, row)
  for _, raw in ipairs(result and (result.items or result) or {}) do
    local text, snippet = raw.insertText, false
    if type(text) == "table" then
      text, snippet = text.value, true
    end
    local start_col, end_col = col, col
    if raw.range then
      local range_start, range_end = raw.range.start, raw.range["end"]
      if range_start.line == row and range_end.line == row then
        start_col = byte_col(line, range_start.character, encoding)
        end_col = byte_col(line, range_end.character, encoding)
      else
        text = nil -- the spec keeps the range on the cursor line
      end
    end
    if type(text) == "string" and start_col <= col and end_col >= col then
      local before = line:sub(start_col + 1, col)
      if vim.startswith(text, before) then
        text = text:sub(#before + 1)
        if text ~= "" and not seen[text] and not (snippet and before ~= "") then
          seen[text] = true
          items[#items + 1] =
            { text = text, row = row, col = col, end_col = end_col, raw = raw, snippet = snippet }
        end
      end
    end
  end
  return items
end

--- Ask the server; `done(items)` runs only for the latest request, and only if nothing changed meanwhile
--- (same text, same cursor, still in insert mode in this buffer). Cancels the request before it.
local function request(st, kind, done)
  local client = client_of(st)
  local win = current_window(st.bufnr)
  if not client or not win or not enabled then
    return
  end
  cancel(st)
  local params = vim.lsp.util.make_position_params(win, client.offset_encoding)
  params.context = { triggerKind = kind }
  local tick = api.nvim_buf_get_changedtick(st.bufnr)
  local cursor = api.nvim_win_get_cursor(win)
  local id
  local ok, request_id = client:request(METHOD, params, function(err, result)
    if st.pending ~= id or states[st.bufnr] ~= st then
      return -- superseded or dismissed: the latest request wins
    end
    st.pending = nil
    if not enabled then
      return
    end
    if err then
      vim.lsp.log.warn("codescaler: inlineCompletion failed", err)
      return
    end
    local now = current_window(st.bufnr)
    if
      not now
      or not in_insert_mode()
      or api.nvim_buf_get_changedtick(st.bufnr) ~= tick
      or not vim.deep_equal(api.nvim_win_get_cursor(now), cursor)
    then
      return -- stale: the user moved on
    end
    done(to_items(st, result, client.offset_encoding, cursor[1] - 1, cursor[2]))
  end, st.bufnr)
  if ok then
    id = request_id
    st.pending = id
  end
end

--- A suggestion is showing in `bufnr`.
function M.visible(bufnr)
  local st = states[bufnr or api.nvim_get_current_buf()]
  return st ~= nil and st.extmark ~= nil and st.items[st.index] ~= nil
end

--- Ask for a suggestion after `debounce_ms` (the as-you-type path).
function M.schedule(bufnr)
  local st = states[bufnr]
  if not st or not enabled or not options.auto_trigger then
    return
  end
  cancel(st)
  st.timer = st.timer or vim.uv.new_timer()
  st.timer:start(
    options.debounce_ms,
    0,
    vim.schedule_wrap(function()
      if states[bufnr] ~= st or not in_insert_mode() or vim.fn.pumvisible() == 1 then
        return
      end
      request(st, AUTOMATIC, function(items)
        if #items > 0 then
          present(st, items, 1, false)
        end
      end)
    end)
  )
end

--- Ask for suggestions now (Invoked: several ranked items to cycle through).
function M.trigger(bufnr)
  local st = states[bufnr or api.nvim_get_current_buf()]
  if not st then
    return false
  end
  clear(st)
  request(st, INVOKED, function(items)
    st.invoked = true
    if #items > 0 then
      present(st, items, 1, #items > 1)
    end
  end)
  return true
end

--- Show the next (delta 1) or previous (-1) ranked item; with only the automatic item, ask for the
--- ranked list first (the server answers it from its cache).
function M.cycle(bufnr, delta)
  local st = states[bufnr or api.nvim_get_current_buf()]
  if not st then
    return
  end
  if not M.visible(st.bufnr) then
    M.trigger(st.bufnr)
    return
  end
  local function wrap(i, n)
    return (i - 1) % n + 1
  end
  if st.invoked or #st.items > 1 then
    present(st, st.items, wrap(st.index + delta, #st.items), true)
    return
  end
  local current = st.items[st.index].text
  request(st, INVOKED, function(items)
    st.invoked = true
    if #items == 0 then
      return
    end
    local at = 1
    for i, item in ipairs(items) do
      if item.text == current then
        at = i
      end
    end
    present(st, items, wrap(at + delta, #items), true)
  end)
end

--- Hide the suggestion (until the next change).
function M.dismiss(bufnr)
  local st = states[bufnr or api.nvim_get_current_buf()]
  if not st then
    return false
  end
  local was = M.visible(st.bufnr)
  cancel(st)
  clear(st)
  return was
end

local function next_word(text)
  return text:match("^%s*[%w_]+") or text:match("^%s*[^%w_%s]+") or text:match("^%s+") or text
end

local function next_line(text)
  local line = text:match("^\n?[^\n]*")
  return line ~= "" and line or text
end

--- Accept the suggestion: all of it (`part` nil), or its next "word" or "line". Returns false when
--- nothing was showing.
function M.accept(bufnr, part)
  bufnr = bufnr or api.nvim_get_current_buf()
  local st = states[bufnr]
  if not M.visible(bufnr) then
    return false
  end
  local item = st.items[st.index]
  local chunk = item.text
  if part == "word" then
    chunk = next_word(item.text)
  elseif part == "line" then
    chunk = next_line(item.text)
  end
  local whole = #chunk >= #item.text
  cancel(st)
  clear(st)
  local lines = vim.split(chunk, "\n", { plain = true })
  if whole and item.snippet then
    api.nvim_buf_set_text(bufnr, item.row, item.col, item.row, item.end_col, { "" })
    api.nvim_win_set_cursor(vim.fn.bufwinid(bufnr), { item.row + 1, item.col })
    vim.snippet.expand(chunk)
  else
    api.nvim_buf_set_text(bufnr, item.row, item.col, item.row, whole and item.end_col or item.col, lines)
  end
  local row = item.row + #lines - 1
  local col = (#lines == 1 and item.col or 0) + #lines[#lines]
  if not item.snippet then
    api.nvim_win_set_cursor(vim.fn.bufwinid(bufnr), { row + 1, col })
  end
  local client = client_of(st)
  if whole then
    -- The item's command (codescaler.accepted) runs after the insertion, as the spec says.
    if client and item.raw.command then
      client:exec_cmd(item.raw.command, { bufnr = bufnr })
    end
    return true
  end
  local accepted = (item.accepted or 0) + vim.fn.strchars(chunk)
  if client then
    client:notify("textDocument/didPartiallyAcceptCompletion", { item = item.raw, acceptedLength = accepted })
  end
  -- The rest stays, anchored at the new cursor (the auto-closed brackets it replaces moved with it).
  local rest = {
    text = item.text:sub(#chunk + 1),
    row = row,
    col = col,
    end_col = col + (item.end_col - item.col),
    raw = item.raw,
    shown = true,
    accepted = accepted,
  }
  present(st, { rest }, 1, false)
  return true
end

--- Typing the start of the suggestion keeps it: the items that still match, re-anchored at the cursor.
local function typed_through(st, win)
  local item = st.items[st.index]
  local cursor = api.nvim_win_get_cursor(win)
  local row, col = cursor[1] - 1, cursor[2]
  if row ~= item.row or col <= item.col then
    return false
  end
  local line = line_at(st.bufnr, row)
  if line:sub(col + 1) ~= st.suffix then
    return false
  end
  local typed = line:sub(item.col + 1, col)
  local kept, index = {}, nil
  for i, it in ipairs(st.items) do
    if vim.startswith(it.text, typed) and #it.text > #typed then
      kept[#kept + 1] = {
        text = it.text:sub(#typed + 1),
        row = row,
        col = col,
        end_col = it.end_col + #typed,
        raw = it.raw,
        shown = it.shown,
        accepted = it.accepted,
      }
      if i == st.index then
        index = #kept
      end
    end
  end
  if not index then
    return false
  end
  present(st, kept, index, false)
  return true
end

local function on_text_changed(bufnr)
  local st = states[bufnr]
  local win = current_window(bufnr)
  if not st or not win then
    return
  end
  if st.extmark and api.nvim_buf_get_changedtick(bufnr) == st.tick then
    return -- the plugin's own edit (a partial accept), already drawn
  end
  if M.visible(bufnr) and typed_through(st, win) then
    return
  end
  clear(st)
  M.schedule(bufnr)
end

local function on_cursor_moved(bufnr)
  local st = states[bufnr]
  local win = current_window(bufnr)
  if not st or not win then
    return
  end
  if M.visible(bufnr) then
    if api.nvim_buf_get_changedtick(bufnr) ~= st.tick then
      return -- typing: TextChangedI decides
    end
    local item = st.items[st.index]
    local cursor = api.nvim_win_get_cursor(win)
    if cursor[1] - 1 == item.row and cursor[2] == item.col then
      return
    end
    clear(st)
  end
  M.schedule(bufnr)
end

--- Start drawing suggestions from `client_id` in `bufnr`.
function M.attach(bufnr, client_id)
  local old = states[bufnr]
  if old and old.client_id == client_id then
    return
  end
  M.detach(bufnr)
  local st = { bufnr = bufnr, client_id = client_id, items = {}, index = 0 }
  states[bufnr] = st
  st.augroup = api.nvim_create_augroup("codescaler.inline." .. bufnr, { clear = true })
  local function on(events, callback)
    api.nvim_create_autocmd(events, {
      group = st.augroup,
      buffer = bufnr,
      callback = function()
        callback(bufnr)
      end,
    })
  end
  on("InsertEnter", M.schedule)
  on("TextChangedI", on_text_changed)
  on("CursorMovedI", on_cursor_moved)
  on({ "InsertLeave", "BufLeave", "CompleteChanged" }, M.dismiss)
  on({ "BufUnload", "BufWipeout" }, M.detach)
  if in_insert_mode() and current_window(bufnr) then
    M.schedule(bufnr)
  end
end

--- Stop drawing suggestions in `bufnr` (only those of `client_id`, when given).
function M.detach(bufnr, client_id)
  local st = states[bufnr]
  if not st or (type(client_id) == "number" and st.client_id ~= client_id) then
    return
  end
  cancel(st)
  clear(st)
  if st.timer and not st.timer:is_closing() then
    st.timer:close()
  end
  pcall(api.nvim_del_augroup_by_id, st.augroup)
  states[bufnr] = nil
end

--- Turn suggestions on or off everywhere (off: nothing is asked for or shown).
function M.set_enabled(on)
  enabled = on
  if not on then
    for bufnr in pairs(states) do
      M.dismiss(bufnr)
    end
  end
end

--- What is showing in `bufnr`, for tests and statuslines: nil, or
--- { index, count, text (what accepting inserts), item (the server's item), extmark, invoked }.
function M.current(bufnr)
  local st = states[bufnr or api.nvim_get_current_buf()]
  if not st or not M.visible(st.bufnr) then
    return nil
  end
  local item = st.items[st.index]
  return {
    index = st.index,
    count = #st.items,
    text = item.text,
    item = item.raw,
    extmark = st.extmark,
    invoked = st.invoked == true, -- the items are the ranked list of an Invoked request
  }
end

function M.attached(bufnr)
  return states[bufnr or api.nvim_get_current_buf()] ~= nil
end

return M
