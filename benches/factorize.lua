-- Lua port of examples/factorize.mini (the seed's sequential program): the same
-- algorithm, with the generator written as a coroutine.
local function factorize(number)
  return coroutine.wrap(function()
    for i = 1, number do
      if number % i == 0 then
        coroutine.yield(i)
      end
    end
  end)
end

local numbers = {2139079, 1214759, 1516637, 1852285}
local start = os.clock()
for _, number in ipairs(numbers) do
  local factors = {}
  for f in factorize(number) do
    factors[#factors + 1] = f
  end
end
local delta = os.clock() - start
print(string.format("총 %.3f 초 걸림", delta))
