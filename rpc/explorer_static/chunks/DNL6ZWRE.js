import{a as r,b as o}from"./3OEQZ6BT.js";import"./RNPJADOP.js";import"./ZM2XUYVT.js";export{r as RailroadModule,o as createRailroadServices};
