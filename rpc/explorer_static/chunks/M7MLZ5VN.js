import{a as e,b as r}from"./D5PYBDGC.js";import"./RNPJADOP.js";import"./ZM2XUYVT.js";export{e as RailroadPegModule,r as createRailroadPegServices};
