import{a as e,b as r}from"./CNG3OAMR.js";import"./RNPJADOP.js";import"./ZM2XUYVT.js";export{e as PieModule,r as createPieServices};
